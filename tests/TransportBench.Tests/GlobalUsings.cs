// What nearly every test here uses: xunit, and the runner's own namespaces.
global using TransportBench.Cli;
global using TransportBench.Results;
global using Xunit;
