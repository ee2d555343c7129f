"""Web pages to Markdown: charset, main content, the DOM walk, images, and WARC crawls as a source of pages."""
