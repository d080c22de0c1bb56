using System.Net.Sockets;
using Stress.Client.Operations;

namespace Stress.Client;

/// <summary>
/// One client: draws an exchange from the mix, runs it under its deadline, records the outcome, until told to
/// stop; the exchange in flight then finishes (it is bounded by its deadline).
/// </summary>
internal sealed class StressWorker(WorkerContext context, Func<bool> serverStopping)
{
    public async Task RunAsync(CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var kind = context.Options.Mix.Pick(context.Random);
                using var deadline = new CancellationTokenSource(context.Options.OperationTimeout);
                try
                {
                    await RunOnceAsync(kind, deadline.Token).WaitAsync(context.Options.OperationTimeout + TimeSpan.FromSeconds(5), CancellationToken.None);
                    context.Stats.RecordSuccess(kind);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    context.DropKeepAlive();
                    if (!Record(kind, e, deadline.IsCancellationRequested))
                    {
                        // The server is stopping and refused or closed this one: no use hammering its closed port.
                        await Task.Delay(10, CancellationToken.None);
                    }
                }
            }
        }
        finally
        {
            context.DropKeepAlive();
        }
    }

    private Task RunOnceAsync(OperationKind kind, CancellationToken cancellationToken) => kind switch
    {
        OperationKind.Get => KeepAliveExchanges.GetAsync(context, cancellationToken),
        OperationKind.Download => KeepAliveExchanges.DownloadAsync(context, cancellationToken),
        OperationKind.Pipelined => KeepAliveExchanges.PipelinedAsync(context, cancellationToken),
        OperationKind.Echo => BodyExchanges.EchoAsync(context, cancellationToken),
        OperationKind.Upload => BodyExchanges.UploadAsync(context, cancellationToken),
        OperationKind.AbortUpload => Disruptions.AbortUploadAsync(context, cancellationToken),
        OperationKind.AbortDownload => Disruptions.AbortDownloadAsync(context, cancellationToken),
        OperationKind.ConnectClose => Disruptions.ConnectCloseAsync(context, cancellationToken),
        OperationKind.HalfClose => PeerBehaviours.HalfCloseAsync(context, cancellationToken),
        OperationKind.SlowReader => PeerBehaviours.SlowReaderAsync(context, cancellationToken),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>Counts the failure; false when it was instead the end of an exchange by a server stop.</summary>
    private bool Record(OperationKind kind, Exception e, bool deadlinePassed)
    {
        bool stopping = serverStopping();
        var (failure, message) = e switch
        {
            _ when deadlinePassed || e is TimeoutException =>
                (FailureKind.Hung, $"not done within {context.Options.OperationTimeout.TotalSeconds:0} s ({e.GetType().Name}: {e.Message})"),
            StressFailureException f => (f.Kind, f.Message),
            NoResponseException => (FailureKind.Dropped, e.Message),
            SocketException s => (FailureKind.Dropped, $"{s.SocketErrorCode}: {s.Message}"),
            _ => (FailureKind.Protocol, $"{e.GetType().Name}: {e.Message}"),
        };
        // During a graceful stop the server refuses new connections and closes idle ones: an exchange that got no
        // response at all is the race every HTTP client has with a closing server. Anything else still counts.
        if (stopping && failure == FailureKind.Dropped)
        {
            context.Stats.RecordShutdownEnd(kind);
            return false;
        }
        context.Stats.RecordFailure(kind, failure, message);
        return true;
    }
}
