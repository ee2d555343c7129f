"""EPUB books (Project Gutenberg, publishers): the package (``package``) and its chapters as Markdown (``convert``)."""
