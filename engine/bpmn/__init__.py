"""The models administrators deploy: parsing, checks, versions, the modeler, migration."""
