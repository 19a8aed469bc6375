"""Plain-Python processing logic of the email consumer (no boto3 clients are created here)."""
