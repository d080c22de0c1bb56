using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace KestrelEpollTransport.Reliability.Tests.Infrastructure;

/// <summary>One log entry a host wrote.</summary>
/// <param name="Category">The logger's category.</param>
/// <param name="EventId">The event id.</param>
/// <param name="Level">The level.</param>
/// <param name="Message">The formatted message.</param>
/// <param name="Exception">The exception logged with it.</param>
public sealed record LogEntry(string Category, int EventId, LogLevel Level, string Message, Exception? Exception);

/// <summary>
/// Keeps a host's log entries at <paramref name="minimumLevel"/> and above, so a test can count them (a fault logged
/// once, a slow response ended by Kestrel), and copies warnings and errors to the test's output.
/// </summary>
public sealed class LogCapture(ITestOutputHelper? output, LogLevel minimumLevel = LogLevel.Information) : ILoggerProvider
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();

    /// <summary>The least level kept.</summary>
    public LogLevel MinimumLevel => minimumLevel;

    /// <summary>Every entry so far.</summary>
    public IReadOnlyCollection<LogEntry> Entries => _entries;

    /// <summary>Entries of <paramref name="category"/> with <paramref name="eventId"/>.</summary>
    public int Count(string category, int eventId) => _entries.Count(e => e.Category == category && e.EventId == eventId);

    /// <summary>Entries at <see cref="LogLevel.Error"/> or above.</summary>
    public IReadOnlyList<LogEntry> Errors => _entries.Where(e => e.Level >= LogLevel.Error).ToList();

    /// <summary>A list of entries for an assertion message.</summary>
    public static string Describe(IEnumerable<LogEntry> entries) =>
        string.Join(Environment.NewLine, entries.Select(e => $"{e.Level} {e.Category}#{e.EventId}: {e.Message} {e.Exception?.GetType().Name}"));

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private void Add(LogEntry entry)
    {
        _entries.Enqueue(entry);
        if (output is null || entry.Level < LogLevel.Warning)
        {
            return;
        }
        try
        {
            output.WriteLine($"[{DateTime.UtcNow:HH:mm:ss.fff} {entry.Level} {entry.Category}#{entry.EventId}] {entry.Message}" +
                (entry.Exception is null ? "" : Environment.NewLine + entry.Exception));
        }
        catch (InvalidOperationException)
        {
            // xunit refuses output once the test has ended; a host still stopping has nowhere to write.
        }
    }

    private sealed class Logger(LogCapture capture, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= capture.MinimumLevel;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                capture.Add(new LogEntry(category, eventId.Id, logLevel, formatter(state, exception), exception));
            }
        }
    }
}
