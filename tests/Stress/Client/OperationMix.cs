namespace Stress.Client;

/// <summary>How often each <see cref="OperationKind"/> is picked: weights, drawn from per worker.</summary>
internal sealed class OperationMix
{
    /// <summary>The default weights: mostly ordinary exchanges, a fifth of them disruptions.</summary>
    public static readonly OperationMix Default = new(new Dictionary<OperationKind, int>
    {
        [OperationKind.Get] = 20,
        [OperationKind.Download] = 10,
        [OperationKind.Echo] = 12,
        [OperationKind.Upload] = 6,
        [OperationKind.Pipelined] = 10,
        [OperationKind.AbortUpload] = 5,
        [OperationKind.AbortDownload] = 5,
        [OperationKind.HalfClose] = 8,
        [OperationKind.SlowReader] = 3,
        [OperationKind.ConnectClose] = 8,
    });

    private readonly OperationKind[] _kinds;
    private readonly int[] _cumulative;

    public OperationMix(IReadOnlyDictionary<OperationKind, int> weights)
    {
        _kinds = weights.Where(w => w.Value > 0).Select(w => w.Key).ToArray();
        _cumulative = new int[_kinds.Length];
        int total = 0;
        for (int i = 0; i < _kinds.Length; i++)
        {
            total += weights[_kinds[i]];
            _cumulative[i] = total;
        }
        if (total == 0)
        {
            throw new ArgumentException("The operation mix has no operation with a weight above 0.", nameof(weights));
        }
    }

    /// <summary>A mix of only <paramref name="kinds"/>, in their default proportions.</summary>
    public static OperationMix Only(IEnumerable<OperationKind> kinds)
    {
        var set = kinds.ToHashSet();
        return new OperationMix(Enum.GetValues<OperationKind>().ToDictionary(k => k, k => set.Contains(k) ? Default.Weight(k) : 0));
    }

    /// <summary>The weight of <paramref name="kind"/> in this mix.</summary>
    public int Weight(OperationKind kind)
    {
        int index = Array.IndexOf(_kinds, kind);
        return index < 0 ? 0 : _cumulative[index] - (index == 0 ? 0 : _cumulative[index - 1]);
    }

    /// <summary>Draws one kind.</summary>
    public OperationKind Pick(Random random)
    {
        int draw = random.Next(_cumulative[^1]);
        int index = Array.BinarySearch(_cumulative, draw + 1);
        return _kinds[index >= 0 ? index : ~index];
    }
}
