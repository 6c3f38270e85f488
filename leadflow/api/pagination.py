"""Cursor pagination for the API's lists: opaque cursors, no OFFSET, stable under inserts."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request


class IdCursorPagination(CursorPagination):
    """Newest first by id; ``?limit=`` up to 200."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200

    def decode_cursor(self, request: Request) -> Cursor | None:
        """A bad cursor is bad input (400), not a missing page."""
        try:
            return super().decode_cursor(request)
        except NotFound as exc:
            raise ValidationError({self.cursor_query_param: [_("Invalid cursor.")]}) from exc


def page_serializer(name: str, item: type[serializers.Serializer[Any]]) -> type[Any]:
    """A named ``{"next", "previous", "results"}`` envelope for the schema."""
    return type(
        name,
        (serializers.Serializer,),
        {
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": item(many=True),
        },
    )


class ErrorSerializer(serializers.Serializer[Any]):
    """Every 4xx and 5xx of the API."""

    code = serializers.CharField(help_text="A stable, machine-readable name of the error.")
    message = serializers.CharField(help_text="What went wrong, for a person.")
    fields = serializers.DictField(  # type: ignore[assignment]  # the error shape's key
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages per input field (dotted for nested input); may be empty.",
    )
