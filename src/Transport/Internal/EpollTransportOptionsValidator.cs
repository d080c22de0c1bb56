using Microsoft.Extensions.Options;

namespace KestrelEpollTransport.Internal;

/// <summary>Checks <see cref="EpollTransportOptions"/> once, at start-up; each failure names the option and its value.</summary>
internal sealed class EpollTransportOptionsValidator : IValidateOptions<EpollTransportOptions>
{
    public ValidateOptionsResult Validate(string? name, EpollTransportOptions options)
    {
        var failures = new List<string>();
        if (options.ThreadCount is < 1 or > EpollTransportOptions.MaxThreadCount)
        {
            failures.Add($"{nameof(EpollTransportOptions)}.{nameof(EpollTransportOptions.ThreadCount)} must be between 1 and {EpollTransportOptions.MaxThreadCount}; it is {options.ThreadCount}.");
        }
        if (options.Backlog < 1)
        {
            failures.Add($"{nameof(EpollTransportOptions)}.{nameof(EpollTransportOptions.Backlog)} must be at least 1; it is {options.Backlog}.");
        }
        if (options.MaxReadBufferSize < 0)
        {
            failures.Add($"{nameof(EpollTransportOptions)}.{nameof(EpollTransportOptions.MaxReadBufferSize)} must be null, 0 (unlimited) or positive; it is {options.MaxReadBufferSize}.");
        }
        if (options.MaxWriteBufferSize < 0)
        {
            failures.Add($"{nameof(EpollTransportOptions)}.{nameof(EpollTransportOptions.MaxWriteBufferSize)} must be null, 0 (unlimited) or positive; it is {options.MaxWriteBufferSize}.");
        }
        if (options.FdHeadroom is < FdBudget.ReserveSize)
        {
            failures.Add($"{nameof(EpollTransportOptions)}.{nameof(EpollTransportOptions.FdHeadroom)} must be null (the default) or at least {FdBudget.ReserveSize}; it is {options.FdHeadroom}.");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
