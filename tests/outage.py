"""Making the database unavailable for a while, on PostgreSQL and on SQLite."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from app.store.migrate import upgrade


class TcpProxy:
    """A loopback TCP relay that can be cut (connections reset, new ones refused) and restored."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def restore(self) -> None:
        await self.start()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update({writer, up_writer})

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers.difference_update({writer, up_writer})


class DatabaseOutage:
    """Gives the bot a database URL that can be taken away and given back.

    PostgreSQL goes through a TcpProxy; SQLite lives in its own folder, which is moved away
    (new connections then fail to open the file) and back.
    """

    def __init__(self, url: str, workdir: Path) -> None:
        self.original = url
        self.workdir = workdir
        self.proxy: TcpProxy | None = None
        self.url = url

    async def __aenter__(self) -> DatabaseOutage:
        parsed = make_url(self.original)
        if parsed.get_backend_name() == "postgresql":
            self.proxy = TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432)
            port = await self.proxy.start()
            self.url = parsed.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
        else:
            self.folder = self.workdir / "db"
            self.folder.mkdir()
            self.url = f"sqlite+aiosqlite:///{self.folder / 'bot.db'}"
            await asyncio.to_thread(upgrade, self.url)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.proxy is not None:
            await self.proxy.cut()

    async def down(self, engine: AsyncEngine) -> None:
        """Take the database away; open connections die with it, as in a real outage."""
        if self.proxy is not None:
            await self.proxy.cut()
        else:
            self.folder.rename(self.folder.with_name("db-away"))
            await engine.dispose()

    async def up(self) -> None:
        if self.proxy is not None:
            await self.proxy.restore()
        else:
            self.folder.with_name("db-away").rename(self.folder)
