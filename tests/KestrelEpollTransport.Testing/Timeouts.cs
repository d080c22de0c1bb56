using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;

namespace KestrelEpollTransport.Testing;

/// <summary>
/// Bounds for every wait in the suites. A wait that hits one is a failure (something hung), never the normal way a
/// test ends, so the bounds are generous: they must not fire on a loaded 2-core CI machine running both test
/// projects at once.
/// </summary>
public static partial class Timeouts
{
    /// <summary>The bound for a single await: a request, a read, a host start or stop.</summary>
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(30);

    /// <summary>The bound for a whole bulk operation (1,000 requests, a 64 MiB transfer).</summary>
    public static readonly TimeSpan Bulk = TimeSpan.FromSeconds(90);

    /// <summary>The bound for a whole phase of a load test (10,000 connects, a churn run, a burst held at the fd limit).</summary>
    public static readonly TimeSpan LoadPhase = TimeSpan.FromSeconds(180);

    /// <summary>How much of the awaited expression a timeout's message quotes.</summary>
    private const int QuotedCallLength = 120;

    /// <summary>
    /// Bounds <paramref name="task"/> by <paramref name="timeout"/> (<see cref="Default"/> when null). When the bound
    /// fires, the <see cref="TimeoutException"/> names the awaited expression, the bound and the call site, e.g.
    /// "<c>`client.ReadAsync(buffer)` did not complete within 30 s (ConnectionTests.cs:123)</c>"; the caller
    /// attributes fill those in. A <see cref="TimeoutException"/> thrown by the task itself passes unchanged.
    /// </summary>
    public static async Task WithTimeout(
        this Task task,
        TimeSpan? timeout = null,
        [CallerArgumentExpression(nameof(task))] string call = "",
        [CallerFilePath] string file = "",
        [CallerLineNumber] int line = 0)
    {
        ArgumentNullException.ThrowIfNull(task);
        var limit = timeout ?? Default;
        try
        {
            await task.WaitAsync(limit).ConfigureAwait(false);
        }
        catch (TimeoutException expired) when (!IsTasksOwn(task, expired))
        {
            throw new TimeoutException(Describe(call, limit, file, line), expired);
        }
    }

    /// <inheritdoc cref="WithTimeout(Task, TimeSpan?, string, string, int)"/>
    public static async Task<T> WithTimeout<T>(
        this Task<T> task,
        TimeSpan? timeout = null,
        [CallerArgumentExpression(nameof(task))] string call = "",
        [CallerFilePath] string file = "",
        [CallerLineNumber] int line = 0)
    {
        await ((Task)task).WithTimeout(timeout, call, file, line).ConfigureAwait(false);
        return await task.ConfigureAwait(false);
    }

    /// <summary>A token that fires after <see cref="Default"/>, for socket calls that take a token rather than a bound.</summary>
    public static CancellationToken DefaultToken() => new CancellationTokenSource(Default).Token;

    /// <summary>
    /// The message of a bound that fired: "`call` did not complete within N s (File.cs:line)". The expression is
    /// quoted on one line and cut at <see cref="QuotedCallLength"/> characters (a lambda can span many lines).
    /// </summary>
    private static string Describe(string call, TimeSpan limit, string file, int line)
    {
        string quoted = Whitespace().Replace(call, " ").Trim();
        if (quoted.Length > QuotedCallLength)
        {
            quoted = string.Concat(quoted.AsSpan(0, QuotedCallLength - 1), "…");
        }
        string seconds = limit.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
        return $"`{quoted}` did not complete within {seconds} s ({Path.GetFileName(file)}:{line})";
    }

    /// <summary>Whether <paramref name="exception"/> is the task's own fault rather than the bound firing.</summary>
    private static bool IsTasksOwn(Task task, TimeoutException exception) =>
        ReferenceEquals(task.Exception?.InnerException, exception);

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
