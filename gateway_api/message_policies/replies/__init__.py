"""What the client receives: the gateway's reply to a blocked request, and the tool-call guard that holds, judges and rewrites a model's reply."""
