using Microsoft.Extensions.Logging;

namespace KestrelEpollTransport.Internal;

/// <summary>
/// Every log line of the transport, with fixed event ids (1–99 loops, 100–199 listeners, 200–299 connections).
/// Connection events are Debug; nothing per read or write is logged above Trace.
/// </summary>
internal static partial class EpollTransportLog
{
    [LoggerMessage(1, LogLevel.Debug, "Event loop {LoopId} started.")]
    public static partial void LoopStarted(ILogger logger, int loopId);

    [LoggerMessage(2, LogLevel.Debug, "Event loop {LoopId} stopped.")]
    public static partial void LoopStopped(ILogger logger, int loopId);

    [LoggerMessage(3, LogLevel.Error, "Unhandled exception handling an event on loop {LoopId}; the connection it belongs to is closed, the loop goes on.")]
    public static partial void HandlerFault(ILogger logger, int loopId, Exception exception);

    [LoggerMessage(4, LogLevel.Error, "Unhandled exception in work posted to loop {LoopId}; the loop goes on.")]
    public static partial void PostedWorkFault(ILogger logger, int loopId, Exception exception);

    [LoggerMessage(100, LogLevel.Debug, "Listening on {EndPoint} (fd {Fd}).")]
    public static partial void Listening(ILogger logger, System.Net.EndPoint endPoint, int fd);

    [LoggerMessage(101, LogLevel.Debug, "Stopped listening on {EndPoint}.")]
    public static partial void Unbound(ILogger logger, System.Net.EndPoint endPoint);

    [LoggerMessage(102, LogLevel.Warning, "Accepting on {EndPoint} failed: {Error}. Retrying in {DelayMs} ms; open connections are still served. Logged once per burst.")]
    public static partial void AcceptResourceExhausted(ILogger logger, System.Net.EndPoint endPoint, string error, int delayMs);

    [LoggerMessage(103, LogLevel.Debug, "Accepting on {EndPoint} failed transiently: {Error}.")]
    public static partial void AcceptTransientError(ILogger logger, System.Net.EndPoint endPoint, string error);

    [LoggerMessage(104, LogLevel.Error, "Accepting on {EndPoint} failed: {Error}. The listener stops accepting.")]
    public static partial void AcceptFailed(ILogger logger, System.Net.EndPoint endPoint, string error);

    [LoggerMessage(106, LogLevel.Warning, "Accepting on {EndPoint} paused: the transport holds {Held} fds, as many as the open-file limit allows while keeping {Headroom} free for the rest of the process. Pending connections wait in the backlog until connections close; open connections are still served. Logged once per burst.")]
    public static partial void AcceptAtFdBudget(ILogger logger, System.Net.EndPoint endPoint, int held, int headroom);

    [LoggerMessage(105, LogLevel.Error, "Setting up a connection accepted on {EndPoint} failed; it was closed and accepting goes on.")]
    public static partial void ConnectionSetupFailed(ILogger logger, System.Net.EndPoint endPoint, Exception exception);

    [LoggerMessage(200, LogLevel.Debug, "Connection id \"{ConnectionId}\" received FIN.")]
    public static partial void ConnectionReadFin(ILogger logger, string connectionId);

    [LoggerMessage(201, LogLevel.Debug, "Connection id \"{ConnectionId}\" sending FIN because: \"{Reason}\"")]
    public static partial void ConnectionWriteFin(ILogger logger, string connectionId, string reason);

    [LoggerMessage(202, LogLevel.Debug, "Connection id \"{ConnectionId}\" reset.")]
    public static partial void ConnectionReset(ILogger logger, string connectionId);

    [LoggerMessage(203, LogLevel.Debug, "Connection id \"{ConnectionId}\" communication error.")]
    public static partial void ConnectionError(ILogger logger, string connectionId, Exception exception);

    [LoggerMessage(204, LogLevel.Debug, "Connection id \"{ConnectionId}\" paused reading (read buffer full).")]
    public static partial void ConnectionPause(ILogger logger, string connectionId);

    [LoggerMessage(205, LogLevel.Debug, "Connection id \"{ConnectionId}\" resumed reading.")]
    public static partial void ConnectionResume(ILogger logger, string connectionId);

    [LoggerMessage(206, LogLevel.Debug, "Connection id \"{ConnectionId}\" sending RST because: \"{Reason}\"")]
    public static partial void ConnectionWriteRst(ILogger logger, string connectionId, string reason);
}
