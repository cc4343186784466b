"""The input limits the services enforce and the gateway checks first, kept once.

The gateway validates requests (and documents them in OpenAPI) with the same numbers the
embedding and liveness services apply, so that a request the gateway accepts is never refused
downstream for a rule the gateway did not say. Patterns are strings (the gateway's OpenAPI and
pydantic need them so); the services compile them.
"""

from __future__ import annotations

import re

ID_PATTERN = r"^[A-Za-z0-9_.@-]{1,128}$"
"""A tenant, group or user id of the gallery; one made of dots only is refused too (see
:func:`is_only_dots`: pydantic's regex engine has no look-ahead to say it here)."""


_GALLERY_ID = re.compile(ID_PATTERN)

ID_RULE = "must be 1-128 characters of letters, digits, '_', '.', '@' or '-', not only dots"
""":data:`ID_PATTERN` and :func:`is_only_dots` in words, for error messages."""


def is_gallery_id(value: object) -> bool:
    """Whether ``value`` is a tenant, group or user id the gallery takes (:data:`ID_RULE`)."""
    return isinstance(value, str) and bool(_GALLERY_ID.match(value)) and not is_only_dots(value)


def is_only_dots(value: str) -> bool:
    """Whether an id is ``.``, ``..``, ...: in a URL such a path segment means "this folder" or
    "the parent", and HTTP clients and proxies rewrite it (``DELETE /groups/g/users/..`` would
    reach ``DELETE /groups/g``), so no id may be one."""
    return bool(value) and not value.strip(".")


FACE_TOKEN_PATTERN = r"^[0-9a-f]{32}$"
"""A face token as the gallery makes it (``uuid4().hex``)."""

MAX_USER_INFO_CHARS = 4096
"""The most characters of the free text stored with a user."""

MAX_TOP_K = 100
"""The most users one search returns per face."""

MAX_SEARCH_GROUPS = 100
"""The most groups one search covers."""

MIN_FAR, MAX_FAR = 1e-6, 1e-2
"""The range of the false-accept rate a clustering job may ask for."""

MAX_MIN_CLUSTER_SIZE = 1000
"""The largest ``min_cluster_size`` of a clustering job."""

MAX_PHOTO_NAME_CHARS = 256
"""The most characters of a clustered photo's name."""

MAX_SESSION_ID = 200
"""The longest liveness session id the liveness service looks up."""

MIN_SESSION_TTL_SECONDS = 5
"""The shortest liveness session a caller may ask for (fixed: not a setting)."""

LIVENESS_DEFAULT_ACTIONS = (2, 4)
"""The liveness service's default ``min_actions`` and ``max_actions``. Settings: only the
service enforces them; the gateway's OpenAPI document states these defaults."""

LIVENESS_DEFAULT_MAX_SESSION_TTL_SECONDS = 600
"""The liveness service's default ``max_session_ttl_seconds`` (a setting, as above)."""

LIVENESS_DEFAULT_FRAMES = (3, 100)
"""The liveness service's default ``min_frames`` and ``max_frames`` (settings, as above)."""
