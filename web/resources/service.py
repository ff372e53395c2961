"""Sharing and removing a session's resources: the rules, the row and the file kept in step."""

from __future__ import annotations

from models.clock import Clock
from models.db import Database
from models.enums import SessionStatus
from models.tables import MentorSession, Resource
from web.errors import conflict, forbidden, not_found
from web.http.identity import Identity
from web.resources.file_types import download_name
from web.resources.queries import may_manage, session_of
from web.resources.storage import ResourceStore
from web.resources.upload import ReceivedFile

# Resources follow the session: shared while it runs or after it ended, never before or when cancelled.
OPEN_FOR_UPLOADS = (SessionStatus.LIVE, SessionStatus.ENDED)


async def check_upload_allowed(db: Database, identity: Identity, session_id: int) -> MentorSession:
    """Judged before the body is read: a refused uploader never gets to send 25 MB."""
    async with db.session() as s:
        mentor_session = await session_of(s, session_id)
    if not may_manage(mentor_session, identity):
        raise forbidden("Only this session's mentor can upload its resources.")
    if mentor_session.status not in OPEN_FOR_UPLOADS:
        raise conflict("Resources can be shared once the session is live or has ended.")
    return mentor_session


async def add_resource(db: Database, clock: Clock, store: ResourceStore, identity: Identity,
                       mentor_session: MentorSession, upload: ReceivedFile) -> Resource:
    assert mentor_session.id is not None
    try:
        stored = store.keep(upload.path)
    except BaseException:
        upload.path.unlink(missing_ok=True)
        raise
    try:
        async with db.session() as s:
            row = Resource(
                session_id=mentor_session.id,
                title=upload.title,
                path=stored,
                original_name=download_name(upload.original_name, upload.file_type)[:255],
                content_type=upload.file_type.content_type,
                size_bytes=upload.size,
                uploaded_by=identity.user_id,
                created_at=clock.now(),
            )
            s.add(row)
            await s.commit()
    except BaseException:
        store.delete(stored)
        raise
    return row


async def delete_resource(db: Database, store: ResourceStore, identity: Identity, resource_id: int) -> None:
    async with db.session() as s:
        row = await s.get(Resource, resource_id)
        if row is None:
            raise not_found("No such resource.")
        mentor_session = await session_of(s, row.session_id)
        if not may_manage(mentor_session, identity):
            raise forbidden("Only this session's mentor can remove its resources.")
        stored = row.path
        await s.delete(row)
        await s.commit()
    # The row goes first: a file without a row is only wasted space, a row without a file a broken link.
    store.delete(stored)
