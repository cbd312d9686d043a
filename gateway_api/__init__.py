"""LLM gateway: the `gateway` CLI (`pip install llm-gateway`) and the server (`pip install llm-gateway[server]`)."""

__version__ = "0.1.0"
