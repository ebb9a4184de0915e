"""What a route accepts as its body's Content-Type: JSON endpoints take `application/json` (or a
`+json` type), the login form takes `application/x-www-form-urlencoded`; anything else is 415."""

from email.message import Message

from fastapi import Depends, Request

from app.core.errors import UnsupportedMediaType


def media_type(content_type: str | None) -> tuple[str, str]:
    """The (maintype, subtype) of a Content-Type header, lower case; ("", "") when absent."""
    if not content_type:
        return "", ""
    message = Message()
    message["content-type"] = content_type
    if message.get_content_type() == "text/plain" and "text/plain" not in content_type.lower():
        return "", ""  # the email module's default for a header it cannot read
    return message.get_content_maintype(), message.get_content_subtype()


def is_json(content_type: str | None) -> bool:
    """application/json or application/<anything>+json."""
    main, sub = media_type(content_type)
    return main == "application" and (sub == "json" or sub.endswith("+json"))


def _require_json(request: Request) -> None:
    if not is_json(request.headers.get("content-type")):
        raise UnsupportedMediaType(
            "This endpoint takes a JSON body: send Content-Type: application/json.",
            [
                {
                    "code": "UNSUPPORTED_MEDIA_TYPE",
                    "path": "header.content-type",
                    "message": "expected application/json",
                }
            ],
        )


def _require_form(request: Request) -> None:
    if media_type(request.headers.get("content-type")) != ("application", "x-www-form-urlencoded"):
        raise UnsupportedMediaType(
            "This endpoint takes a form: send Content-Type: application/x-www-form-urlencoded.",
            [
                {
                    "code": "UNSUPPORTED_MEDIA_TYPE",
                    "path": "header.content-type",
                    "message": "expected application/x-www-form-urlencoded",
                }
            ],
        )


# `dependencies=[JSON_BODY]` on a route that reads a JSON body, `[FORM_BODY]` on a form.
JSON_BODY = Depends(_require_json)
FORM_BODY = Depends(_require_form)
