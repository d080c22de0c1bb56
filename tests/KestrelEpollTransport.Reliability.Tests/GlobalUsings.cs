// What nearly every reliability test uses: the shared test infrastructure, this project's own, the stress client.
global using KestrelEpollTransport.Reliability.Tests.Infrastructure;
global using KestrelEpollTransport.Testing;
global using Stress.Client;
global using Xunit;
global using Xunit.Abstractions;
