"""Run every scim2-tester check against one SCIM 2.0 base URL.

Usage (from the venv that .ci/scim/requirements.txt installs):

    python .ci/scim/check.py --url http://127.0.0.1:PORT/scim/v2/DIRECTORY_ID \
        --token TOKEN [--email-domain example.com] [--allow-unsupported NAME ...]

It discovers the server through /ServiceProviderConfig, /ResourceTypes and
/Schemas, then runs the CRUD, attribute-selection and PATCH checks on every
resource type (scim2_tester.check_server). One line is printed per check
result: STATUS, title, [resource type], reason, then a closing line
"scim2-tester: N passed, N failed, N skipped". The exit code is 1 when a result
is ERROR or CRITICAL and neither ALLOWED_FAILURES below nor --allow-unsupported
names its title or one of its tags (e.g. "patch" or "patch:add"; such results
print as ALLOWED and count as skipped), or when no resource could be created;
otherwise 0.

--email-domain makes the random values scim2-tester sends for userName and
emails.value addresses in that domain (it otherwise sends a bare UUID as
userName and UUID@UUID.com as emails).
"""

import argparse
import re
import sys
import uuid

import httpx2
import scim2_tester.checkers.patch_add
import scim2_tester.checkers.patch_replace
import scim2_tester.filling
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

# ---------------------------------------------------------------------------
# ALLOWLIST: check titles or tags whose ERROR results do not fail the run.
# Keep it EMPTY unless a failure is understood and accepted; say why per entry,
# e.g.  "search_with_attributes",  # reason...
ALLOWED_FAILURES: set[str] = set()
# ---------------------------------------------------------------------------

FAILED = (Status.ERROR, Status.CRITICAL)


def use_email_domain(domain: str) -> None:
    """Make scim2-tester's random userName and email values addresses in `domain`."""
    original = scim2_tester.filling.generate_random_value
    random_domain = re.compile(r"@[0-9a-f-]{36}\.com$")  # filling.py: uuid@uuid.com

    def generate(context, path, *args, **kwargs):
        value = original(context, path, *args, **kwargs)
        if str(path).lower() == "username" and isinstance(value, str):
            return f"{uuid.uuid4()}@{domain}"
        if isinstance(value, str):
            return random_domain.sub(f"@{domain}", value)
        if isinstance(value, list):
            return [
                random_domain.sub(f"@{domain}", v) if isinstance(v, str) else v
                for v in value
            ]
        return value

    # filling.py calls it through its module globals (also for the sub-attributes
    # of complex values); the PATCH checkers imported their own reference.
    scim2_tester.filling.generate_random_value = generate
    scim2_tester.checkers.patch_add.generate_random_value = generate
    scim2_tester.checkers.patch_replace.generate_random_value = generate


def is_allowed(result, allowed: set[str]) -> bool:
    """Tell whether the title or a tag of a result (or a tag's prefix) is allowed."""
    names = {result.title} | result.tags
    names |= {tag.split(":", 1)[0] for tag in result.tags}
    return bool(names & allowed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="SCIM base URL")
    parser.add_argument("--token", required=True, help="bearer token")
    parser.add_argument("--email-domain", help="domain for userName and emails")
    parser.add_argument(
        "--allow-unsupported",
        nargs="+",
        default=[],
        metavar="NAME",
        help="check titles or tags whose errors are tolerated",
    )
    args = parser.parse_args()

    if args.email_domain:
        use_email_domain(args.email_domain)
    allowed = ALLOWED_FAILURES | set(args.allow_unsupported)

    http = httpx2.Client(
        base_url=args.url,
        headers={"Authorization": f"Bearer {args.token}"},
        timeout=30,
        trust_env=False,  # the server is on loopback: ignore proxy variables
    )
    with http:
        results = check_server(SyncSCIMClient(http))

    passed = failed = skipped = 0
    for result in results:
        status = result.status.name
        if result.status in FAILED and is_allowed(result, allowed):
            status = "ALLOWED"
        if status in ("ALLOWED", "SKIPPED"):
            skipped += 1
        elif result.status in FAILED:
            failed += 1
        else:
            passed += 1
        reason = " ".join((result.reason or "").split())
        where = f" [{result.resource_type}]" if result.resource_type else ""
        print(f"{status:8} {result.title}{where}: {reason}")

    if not any(r.status == Status.SUCCESS and "crud:create" in r.tags for r in results):
        print("ERROR    no resource could be created: the CRUD checks did not run")
        failed += 1
    print(f"scim2-tester: {passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
