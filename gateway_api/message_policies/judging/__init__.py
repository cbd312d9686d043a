"""The LLM judge of judged rules: its prompt and verdict, the verdict cache, the judge itself."""
