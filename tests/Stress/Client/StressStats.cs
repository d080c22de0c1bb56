using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Stress.Client;

/// <summary>The run's counters, updated by every worker: exchanges by kind and outcome, bytes, connections, failures.</summary>
internal sealed class StressStats
{
    /// <summary>How many failure messages are kept for the summary.</summary>
    private const int MaxSamples = 20;

    private readonly long[] _succeeded = new long[Enum.GetValues<OperationKind>().Length];
    private readonly long[] _failed = new long[Enum.GetValues<OperationKind>().Length];
    private readonly long[] _endedByShutdown = new long[Enum.GetValues<OperationKind>().Length];
    private readonly long[] _failures = new long[Enum.GetValues<FailureKind>().Length];
    private readonly ConcurrentQueue<string> _samples = new();
    private long _bytesSent;
    private long _bytesReceived;
    private long _connections;
    private long _halfCloseCuts;

    public long BytesSent => Interlocked.Read(ref _bytesSent);

    public long BytesReceived => Interlocked.Read(ref _bytesReceived);

    public long Connections => Interlocked.Read(ref _connections);

    /// <summary>Half-close exchanges whose response Kestrel cut or never sent (it aborts on a client FIN).</summary>
    public long HalfCloseCuts => Interlocked.Read(ref _halfCloseCuts);

    public long Succeeded(OperationKind kind) => Interlocked.Read(ref _succeeded[(int)kind]);

    public long Failed(OperationKind kind) => Interlocked.Read(ref _failed[(int)kind]);

    public long EndedByShutdown(OperationKind kind) => Interlocked.Read(ref _endedByShutdown[(int)kind]);

    public long Failures(FailureKind kind) => Interlocked.Read(ref _failures[(int)kind]);

    public long TotalSucceeded => Enum.GetValues<OperationKind>().Sum(Succeeded);

    public long TotalFailed => Enum.GetValues<OperationKind>().Sum(Failed);

    public long TotalEndedByShutdown => Enum.GetValues<OperationKind>().Sum(EndedByShutdown);

    /// <summary>The first failures' descriptions.</summary>
    public IReadOnlyCollection<string> Samples => _samples;

    public void AddSent(long bytes) => Interlocked.Add(ref _bytesSent, bytes);

    public void AddReceived(long bytes) => Interlocked.Add(ref _bytesReceived, bytes);

    public void ConnectionOpened() => Interlocked.Increment(ref _connections);

    public void HalfCloseCut() => Interlocked.Increment(ref _halfCloseCuts);

    public void RecordSuccess(OperationKind kind) => Interlocked.Increment(ref _succeeded[(int)kind]);

    public void RecordShutdownEnd(OperationKind kind) => Interlocked.Increment(ref _endedByShutdown[(int)kind]);

    public void RecordFailure(OperationKind kind, FailureKind failure, string message)
    {
        Interlocked.Increment(ref _failed[(int)kind]);
        Interlocked.Increment(ref _failures[(int)failure]);
        if (_samples.Count < MaxSamples)
        {
            _samples.Enqueue($"{kind}: {failure}: {message}");
        }
    }

    /// <summary>The summary table.</summary>
    public string Describe()
    {
        var text = new StringBuilder();
        var culture = CultureInfo.InvariantCulture;
        text.AppendLine(culture, $"  {"operation",-14} {"ok",10} {"failed",8} {"shutdown",9}");
        foreach (var kind in Enum.GetValues<OperationKind>())
        {
            text.AppendLine(culture, $"  {kind,-14} {Succeeded(kind),10} {Failed(kind),8} {EndedByShutdown(kind),9}");
        }
        text.AppendLine(culture, $"  {"total",-14} {TotalSucceeded,10} {TotalFailed,8} {TotalEndedByShutdown,9}");
        text.AppendLine(culture, $"  connections opened {Connections}, sent {BytesSent / (1024.0 * 1024):0.0} MiB, received {BytesReceived / (1024.0 * 1024):0.0} MiB; half-close responses cut by Kestrel {HalfCloseCuts}");
        text.Append("  failures:");
        foreach (var failure in Enum.GetValues<FailureKind>())
        {
            text.Append(culture, $" {failure.ToString().ToLowerInvariant()} {Failures(failure)}");
        }
        text.AppendLine();
        foreach (string sample in _samples)
        {
            text.AppendLine(culture, $"  ! {sample}");
        }
        return text.ToString();
    }
}
