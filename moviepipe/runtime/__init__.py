"""What every Lambda function shares at run time: settings, the AWS client factory, wire names.

Shipped in each Lambda zip (see ``moviepipe.packaging.HANDLER_PACKAGES``); imports nothing of the CLI or
the local stack.
"""
