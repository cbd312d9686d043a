"""Message policies: content rules and LLM-judged rules on what users send and what tools the model calls."""
