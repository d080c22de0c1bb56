using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Testing;

/// <summary>
/// Sends a test host's warnings and errors (an unhandled exception in a handler, a transport error) to the test's
/// output, so a failing test's report shows what the server saw.
/// </summary>
internal sealed class TestOutputLoggerProvider(ITestOutputHelper output) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new Logger(output, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(ITestOutputHelper output, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }
            try
            {
                output.WriteLine($"[{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {category}#{eventId.Id}] {formatter(state, exception)}{(exception is null ? "" : Environment.NewLine + exception)}");
            }
            catch (InvalidOperationException)
            {
                // xunit refuses output once the test has ended; a log line from a host still shutting down after
                // that has nowhere to go, and losing it must not fail whatever thread logged it.
            }
        }
    }
}
