error("fails while loading")
