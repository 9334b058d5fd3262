"""Where `browser.search` looks things up: the backend interface and the services it ships
with (SearXNG, Brave, Exa, and a local index), each with its settings. The public names are
exported by `harmony_agent.tools.browser`.
"""
