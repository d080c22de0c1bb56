// The shared test helpers (TestHost, Timeouts, Eventually...), which nearly every test here uses.
global using KestrelEpollTransport.Testing;
global using Xunit;
