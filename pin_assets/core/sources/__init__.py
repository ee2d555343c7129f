"""Reading a batch's source: listing its files, sniffing what each one is, the files that travel with a
document, documents carved out of multi-document files, and the check at the door."""
