namespace TransportBench.Servers;

/// <summary>The runner's load helper (docs/benchmarks.md, "The load helper"): each <see cref="RunAsync"/> is one job.</summary>
internal sealed class LoadHelperProcess : ChildProcess
{
    public LoadHelperProcess(string? cpus, IReadOnlyDictionary<string, string?>? environment)
        : base(cpus, [Path.Combine(AppContext.BaseDirectory, "TransportBench.LoadHelper.dll")], environment, null, keepLines: 20)
    {
        // Its standard error, for error messages; its standard output carries the replies.
        Process.ErrorDataReceived += (_, e) => Remember(e.Data);
        Process.BeginErrorReadLine();
    }

    /// <summary>Sends <paramref name="job"/> and waits, at most <paramref name="limit"/>, for its reply.</summary>
    /// <exception cref="InvalidOperationException">The helper failed, ended or took too long (it is then killed, so the
    /// next job starts a new one); the message holds its output.</exception>
    public async Task<HelperReply> RunAsync(HelperJob job, TimeSpan limit, CancellationToken cancellationToken)
    {
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bound.CancelAfter(limit);
        HelperReply? reply = null;
        try
        {
            await Process.StandardInput.WriteLineAsync(HelperProtocol.Write(job));
            await Process.StandardInput.FlushAsync(cancellationToken);
            while (reply is null && await Process.StandardOutput.ReadLineAsync(bound.Token) is string line)
            {
                reply = line.StartsWith(HelperProtocol.Prefix, StringComparison.Ordinal)
                    ? HelperProtocol.Read<HelperReply>(line[HelperProtocol.Prefix.Length..])
                    : null;
            }
        }
        catch (Exception e) when (e is IOException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // Its input closed (it ended since the last job), or past its bound: a failure, reported below.
        }
        if (reply is null || reply.Error is not null)
        {
            string how = reply?.Error ?? (HasExited ? "ended" : "did not answer in time");
            ChildProcesses.Kill(Process);
            throw new InvalidOperationException($"the load helper {how}:\n{OutputTail()}");
        }
        return reply;
    }
}
