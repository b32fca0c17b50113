"""Cursor pages on the primary key: each page is read from the index where the last stopped,
whatever the list's size, and adding rows does not shift the pages already read.

The cursor (ninja's, opaque base64 inside the `next` link) only says where to start; every
page is still filtered by the client's scope, so a forged cursor shows nothing more.
"""

from ninja.pagination import CursorPagination

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


class IdCursor(CursorPagination):
    def __init__(self, **kwargs):
        super().__init__(
            ordering=("id",), page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE, **kwargs
        )
