"""feedsvc worker: fetch arXiv papers per topic, store them, enrich them."""
