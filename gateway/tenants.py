"""``python -m gateway.tenants``: manage tenants (apps) and their API keys.

  create TENANT            create a tenant and print its first API key
  add-key TENANT [LABEL]   issue another key
  revoke KEY               revoke a key
  list                     list tenants
  delete TENANT            delete a tenant, its keys, its gallery (every group, user, face,
                           stored image and thumbnail) and clustering jobs (through the
                           embedding service) and its video jobs and streams: the keys are
                           revoked first, the tenant goes once the rest is gone; when the
                           service cannot be reached it says so: run it again
  thumbnails TENANT on|off keep a small JPEG of each face the tenant enrolls from now on
                           (shown by the web demo's gallery console); off by default

The database is the gateway's: PostgreSQL when ``FACEFLOW_GATEWAY_DATABASE_URL`` is set, else
SQLite in ``FACEFLOW_GATEWAY_DATA_DIR`` (default var/gateway).
"""

from __future__ import annotations

import argparse
import sys

from gateway.core.config import GatewaySettings
from gateway.core.state import GatewayState, open_gateway_state
from gateway.core.tenant_gallery import GalleryUnreachableError, delete_tenant_gallery
from gateway.core.tenants import (
    InvalidTenantIdError,
    TenantExistsError,
    TenantNotFoundError,
)
from services.shared.limits import is_gallery_id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gateway.tenants",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("create").add_argument("tenant")
    add_key = sub.add_parser("add-key")
    add_key.add_argument("tenant")
    add_key.add_argument("label", nargs="?", default="")
    sub.add_parser("revoke").add_argument("key")
    sub.add_parser("list")
    sub.add_parser("delete").add_argument("tenant")
    thumbnails = sub.add_parser("thumbnails")
    thumbnails.add_argument("tenant")
    thumbnails.add_argument("setting", choices=("on", "off"))
    options = parser.parse_args(argv)
    settings = GatewaySettings()
    state = open_gateway_state(settings)
    store = state.tenants
    try:
        if options.command == "create":
            store.create_tenant(options.tenant)
            sys.stdout.write(store.create_key(options.tenant, "initial") + "\n")
        elif options.command == "add-key":
            sys.stdout.write(store.create_key(options.tenant, options.label) + "\n")
        elif options.command == "revoke":
            if not store.revoke_key(options.key):
                sys.stderr.write("error: no such key\n")
                return 1
        elif options.command == "list":
            for tenant in store.list_tenants():
                sys.stdout.write(tenant + "\n")
        elif options.command == "thumbnails":
            store.set_thumbnails(options.tenant, options.setting == "on")
        else:
            delete_tenant(state, options.tenant, settings)
    except InvalidTenantIdError as error:
        sys.stderr.write(f"error: {error}\n")
        return 1
    except GalleryUnreachableError as error:
        sys.stderr.write(
            f"error: tenant {options.tenant}'s gallery could not be deleted ({error}):"
            " its keys are revoked, the tenant is kept: run the command again when the service"
            " is up\n"
        )
        return 1
    except TenantExistsError as error:
        sys.stderr.write(f"error: tenant {error} exists already\n")
        return 1
    except TenantNotFoundError as error:
        sys.stderr.write(f"error: no tenant {error}\n")
        return 1
    finally:
        state.close()
    return 0


def delete_tenant(state: GatewayState, tenant: str, settings: GatewaySettings) -> None:
    """Revoke the tenant's keys (nothing new is written for it from here on), delete its
    gallery and clustering jobs, its video jobs and streams, then the tenant: a failure keeps
    the tenant, so running the command again finishes the job. A gateway without an embedding
    service has no gallery to delete, nor has a tenant made before ids were checked (the
    gallery refuses its id)."""
    store = state.tenants
    if tenant not in store.list_tenants():
        raise TenantNotFoundError(tenant)
    store.revoke_keys(tenant)
    if settings.embedding_addr and is_gallery_id(tenant):
        delete_tenant_gallery(settings.embedding_addr, tenant, settings.deadline_seconds)
    state.video.delete_tenant(tenant)
    store.delete_tenant(tenant)


if __name__ == "__main__":
    raise SystemExit(main())
