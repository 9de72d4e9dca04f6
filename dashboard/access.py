"""Who may see a served dashboard, and under which host names: the two access rules, as pure
functions (no streamlit), so the sign-in gate (`dashboard/auth.py`), the server
(`dashboard/server.py`, `dashboard/asgi.py`) and the tests call the same code.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD_ADDRESSES = frozenset({"0.0.0.0", "::", ""})


def is_allowed(email: object, email_verified: object, allow: Iterable[str]) -> bool:
    """Whether a signed-in person may see the project.

    `allow` holds emails (`pm@acme.example`) and domains (`@acme.example`: exactly that domain, not
    its subdomains); both compare case-insensitively. An email the provider marks unverified
    (`email_verified` false) is refused, whatever the list says; a provider that does not send the
    claim is trusted to have checked the address. No email, no entry.
    """
    if email_verified is False or (isinstance(email_verified, str) and email_verified.lower() == "false"):
        return False
    if not isinstance(email, str):
        return False
    address = email.strip().lower()
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or any(c.isspace() for c in address):
        return False
    for entry in allow:
        wanted = entry.strip().lower()
        if wanted.startswith("@"):
            if domain == wanted[1:]:
                return True
        elif address == wanted:
            return True
    return False


def host_name(header: str | None) -> str | None:
    """The name in a Host header, lower case and without the port (`[::1]:8501` -> `::1`), or None
    when the header is missing or malformed."""
    if not header:
        return None
    try:
        name = urlsplit(f"//{header.strip()}").hostname
    except ValueError:
        return None
    return name or None


def allowed_hosts(bind_host: str, public_url: str | None) -> frozenset[str]:
    """The host names a served dashboard answers to: the loopback names, the address it is bound
    to (unless that is a wildcard such as 0.0.0.0) and the public URL's host. Any other Host header
    is refused, so a web page on a domain that merely resolves to this machine (DNS rebinding)
    cannot read the dashboard."""
    names = set(LOOPBACK_HOSTS)
    bound = bind_host.strip().strip("[]").lower()
    if bound not in WILDCARD_ADDRESSES:
        names.add(bound)
    if public_url:
        public = urlsplit(public_url).hostname
        if public:
            names.add(public.lower())
    return frozenset(names)


def host_allowed(header: str | None, allowed: Iterable[str]) -> bool:
    name = host_name(header)
    return name is not None and name in set(allowed)
