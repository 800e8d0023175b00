"""The agency adapters shipped with mpp-bus: Dukcapil (SOAP), business licensing (OSS-style REST, many tenants) and
tax (DJP-style REST). Each package reads like a description of its agency: identity, config, streams, mapping tables
as data (``statuses.yaml``, ``vocabulary.yaml``) and a few short methods."""
