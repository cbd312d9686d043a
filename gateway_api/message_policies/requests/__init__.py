"""What a request says, per policy scope: the text slots of each wire format."""
