"""`mask_secrets`: the one place that hides credentials in any text a person or a log may see.

Every error message (`NorthstarError`, a located `Problem`) and every URL Northstar shows passes
through it. It works on text, not on parsed URLs, so a URL too malformed for SQLAlchemy
(`postgresql+psycopg//u:PW@host/db`), a driver's own message and a URL inside a sentence are all
covered:

- userinfo: `user:PASSWORD@` anywhere (with or without a scheme) becomes `user:***@`;
- secret parameters: `password=`, `pwd=`, `passwd=`, `token=`, `secret=`, `key=`, `access_token=`
  and any name containing one of those words (`api_key`, `client_secret`, ...) keep their name and
  lose their value, in a URL's query (`?password=x&...`) or a key=value list (`password=x host=y`).
"""

from __future__ import annotations

import re

MASK = "***"

# user:password@ : the user part holds no separator, the password runs to the last @ of its word.
_USERINFO = re.compile(r"(?P<user>[^\s'\"`()<>\[\]{}/:@,;=?&]*):(?P<password>[^\s'\"`<>/][^\s'\"`<>]*)@")
_SECRET_WORDS = r"password|passwd|pwd|token|secret|credential|key"
_PARAMETER = re.compile(
    rf"(?P<name>\b[\w.-]*(?:{_SECRET_WORDS})[\w.-]*)(?P<sep>\s*=\s*)(?P<value>'[^']*'|\"[^\"]*\"|[^\s&;,'\"`)<>]+)",
    re.IGNORECASE,
)


def mask_secrets(text: str) -> str:
    """`text` with every password, token and secret in it replaced by ***."""
    text = _USERINFO.sub(lambda m: f"{m['user']}:{MASK}@", text)
    return _PARAMETER.sub(lambda m: f"{m['name']}{m['sep']}{MASK}", text)


__all__ = ["MASK", "mask_secrets"]
