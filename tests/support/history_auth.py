"""An auth manager for the history API tests: Airflow's SimpleAuthManager plus per-DAG denials.

SimpleAuthManager's roles are global (a viewer reads every DAG), so DAG-level authorisation cannot
be shown with it alone. This subclass keeps all of its behaviour (users, passwords, JWTs, roles) and
denies the users named in ``CLARIFY_TEST_DENY`` (``user:dag_a|dag_b,user2:dag_c``) every access to
those DAGs, the way FAB's per-DAG permissions or Keycloak's policies would. The API server loads it
through ``[core] auth_manager``.
"""

from __future__ import annotations

import os

from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager


def _denials() -> dict[str, set[str]]:
    denials: dict[str, set[str]] = {}
    for entry in filter(None, os.environ.get("CLARIFY_TEST_DENY", "").split(",")):
        user, _, dags = entry.partition(":")
        denials[user] = set(dags.split("|"))
    return denials


class DagScopedAuthManager(SimpleAuthManager):
    """SimpleAuthManager that also denies configured users some DAGs."""

    def is_authorized_dag(self, *, method, user, access_entity=None, details=None) -> bool:
        if details is not None and details.id in _denials().get(user.get_id(), set()):
            return False
        return super().is_authorized_dag(
            method=method, user=user, access_entity=access_entity, details=details
        )
