"""Built-in node types. Modules are listed in settings.WEFT_NODE_MODULES and
imported by NodesConfig.ready(); nothing scans folders."""
