global using KestrelEpollTransport.Tests.Infrastructure;
global using Xunit;
