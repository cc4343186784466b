"""Route parameters declared once, as Pydantic models.

Each route declares one ``RouteParams`` subclass: its fields are the parameters, with their
types, ranges, patterns, choices, defaults and descriptions. ``Model.read(request, settings)``
parses them alike from query parameters, multipart form fields (images as files) or a JSON
body (images as base64); ``Model.request_body()`` / ``Model.query_parameters()`` write the
OpenAPI description from the same model, so the document and the parser cannot drift. A value
that fails its field answers the gateway's 400 envelope with a precise message (``messages``).
"""

from gateway.api.params.base import RouteParams

__all__ = ["RouteParams"]
