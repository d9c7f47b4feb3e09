"""The external upload flow slack-sdk's ``files_upload_v2`` drives (step 2 lives in server.py)."""

from __future__ import annotations

import time
from typing import Any

from ..blockkit import check_message_blocks
from ..registry import Args, SlackError, api, arg_int, arg_json, arg_list, arg_str
from ..state import BOT_USER_ID, WORKSPACE_URL, Channel, SlackState

COMPLETE_FILES_MAX = 10  # files.completeUploadExternal accepts at most 10 uploads per call


@api("files.getUploadURLExternal", errors=())
def get_upload_url(state: SlackState, args: Args) -> dict[str, Any]:
    filename = arg_str(args, "filename")
    length = arg_int(args, "length", 0)
    if not filename or length < 1:
        raise SlackError("invalid_arguments")
    file_id = state.new_id("F")
    state.uploads[file_id] = {
        "id": file_id,
        "filename": filename,
        "length": length,
        "content": None,
        "alt_txt": arg_str(args, "alt_txt"),
    }
    return {"upload_url": f"{state.base_url}/upload/{file_id}", "file_id": file_id}


@api(
    "files.completeUploadExternal",
    errors=("file_not_found", "channel_not_found", "not_in_channel", "invalid_blocks"),
)
def complete_upload(state: SlackState, args: Args) -> dict[str, Any]:
    files = arg_json(args, "files")
    if (
        not isinstance(files, list)
        or not files
        or len(files) > COMPLETE_FILES_MAX
        or not all(isinstance(f, dict) and f.get("id") for f in files)
    ):
        raise SlackError("invalid_arguments")
    for f in files:
        upload = state.uploads.get(str(f["id"]))
        if upload is None or upload["content"] is None:
            raise SlackError("file_not_found")
    channel_ids = [arg_str(args, "channel_id")] if arg_str(args, "channel_id") else []
    channel_ids += arg_list(args, "channels")
    channels = [state.member_channel(c) for c in channel_ids]
    check_message_blocks(args, format_error="invalid_blocks")
    comment = arg_str(args, "initial_comment")
    thread_ts = arg_str(args, "thread_ts")
    shared = []
    for f in files:
        upload = state.uploads.pop(str(f["id"]))
        title = str(f.get("title") or upload["filename"])
        shared.append(
            {
                "id": upload["id"],
                "title": title,
                "name": upload["filename"],
                "size": len(upload["content"]),
                "created": int(time.time()),
                "user": BOT_USER_ID,
            }
        )
        targets: list[Channel | None] = [*channels] or [None]  # None: uploaded, not shared
        for channel in targets:
            state.files.append(
                {
                    "id": upload["id"],
                    "title": title,
                    "filename": upload["filename"],
                    "content": upload["content"],
                    "channel_id": channel.id if channel else None,
                    "initial_comment": comment or None,
                    "thread_ts": thread_ts or None,
                }
            )
    for channel in channels:
        # Sharing posts a message carrying the files, which then shows in history.
        message: dict[str, Any] = {
            "user": BOT_USER_ID,
            "text": comment,
            "files": shared,
            "upload": True,
        }
        if thread_ts:
            message["thread_ts"] = thread_ts
        state.append_message(channel.id, message)
    return {"files": [{"id": f["id"], "title": f["title"]} for f in shared]}


@api("files.info", errors=("file_not_found",))
def file_info(state: SlackState, args: Args) -> dict[str, Any]:
    """A shared file, with the permalink Slack gives it (`<workspace>/files/<user>/<id>/<name>`)."""
    file_id = arg_str(args, "file")
    shares = [f for f in state.files if f["id"] == file_id]
    if not shares:
        raise SlackError("file_not_found")
    first = shares[0]
    channels = [f["channel_id"] for f in shares if f["channel_id"]]
    return {
        "file": {
            "id": file_id,
            "name": first["filename"],
            "title": first["title"],
            "user": BOT_USER_ID,
            "size": len(first["content"]),
            "mode": "hosted",
            "is_external": False,
            "permalink": f"{WORKSPACE_URL}files/{BOT_USER_ID}/{file_id}/{first['filename']}",
            "channels": channels,
        },
        "comments": [],
        "response_metadata": {"next_cursor": ""},
    }
