"""Limits: token quotas over a rolling window, requests per minute and USD budgets per day / month.

rules.py resolves which limits apply to a call (key > user > settings default; admins only explicit ones),
windows.py says which time buckets count, counters.py keeps the counts (in process, and in Redis when set),
limiter.py is the service the proxy asks before forwarding and tells after the call.
"""
