"""One module per chapter of the book: its figure entries (runs, profile overrides, caption,
what was shrunk), its claims and its plots. Importing a module registers its figures in
:mod:`companion.registry`; the registry imports them all (``registry.CHAPTER_MODULES``)."""
