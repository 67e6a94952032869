"""Documents: a firm's files as immutable versions of content-addressed blobs, their
folders and tags, the bin, the firm's document settings, and (in their own modules) the
storage of the bytes, text extraction and search, review and retention."""
