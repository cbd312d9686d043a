from tests.support.reply_server import reply_server

__all__ = ["reply_server"]
