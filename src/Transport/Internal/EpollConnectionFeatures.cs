using System.Collections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;

namespace KestrelEpollTransport.Internal;

/// <summary>
/// A connection's feature collection: the six features the connection implements itself live in fields, and the few
/// Kestrel adds (metrics context and tags, ...) in a short list. A <see cref="FeatureCollection"/> keeps all of them in
/// a dictionary, about half a KiB per connection, which shows up when 10,000 keep-alive connections sit idle.
/// </summary>
/// <remarks>
/// <paramref name="connection"/> is the <see cref="EpollConnection"/>, which implements the six. Not thread-safe, like
/// <see cref="FeatureCollection"/>: Kestrel sets features while it sets the connection up.
/// </remarks>
internal sealed class EpollConnectionFeatures(object connection) : IFeatureCollection
{
    private object? _id = connection;
    private object? _transport = connection;
    private object? _items = connection;
    private object? _memoryPool = connection;
    private object? _lifetime = connection;
    private object? _endPoint = connection;
    private List<KeyValuePair<Type, object>>? _others;
    private int _revision;

    public bool IsReadOnly => false;

    public int Revision => _revision;

    public object? this[Type key]
    {
        get
        {
            ArgumentNullException.ThrowIfNull(key);
            if (key == typeof(IConnectionIdFeature)) { return _id; }
            if (key == typeof(IConnectionTransportFeature)) { return _transport; }
            if (key == typeof(IConnectionItemsFeature)) { return _items; }
            if (key == typeof(IMemoryPoolFeature)) { return _memoryPool; }
            if (key == typeof(IConnectionLifetimeFeature)) { return _lifetime; }
            if (key == typeof(IConnectionEndPointFeature)) { return _endPoint; }
            if (_others is { } others)
            {
                foreach (var pair in others)
                {
                    if (pair.Key == key)
                    {
                        return pair.Value;
                    }
                }
            }
            return null;
        }
        set
        {
            ArgumentNullException.ThrowIfNull(key);
            _revision++;
            if (key == typeof(IConnectionIdFeature)) { _id = value; }
            else if (key == typeof(IConnectionTransportFeature)) { _transport = value; }
            else if (key == typeof(IConnectionItemsFeature)) { _items = value; }
            else if (key == typeof(IMemoryPoolFeature)) { _memoryPool = value; }
            else if (key == typeof(IConnectionLifetimeFeature)) { _lifetime = value; }
            else if (key == typeof(IConnectionEndPointFeature)) { _endPoint = value; }
            else { SetOther(key, value); }
        }
    }

    public TFeature? Get<TFeature>() => this[typeof(TFeature)] is TFeature feature ? feature : default;

    public void Set<TFeature>(TFeature? instance) => this[typeof(TFeature)] = instance;

    public IEnumerator<KeyValuePair<Type, object>> GetEnumerator()
    {
        if (_id is not null) { yield return new(typeof(IConnectionIdFeature), _id); }
        if (_transport is not null) { yield return new(typeof(IConnectionTransportFeature), _transport); }
        if (_items is not null) { yield return new(typeof(IConnectionItemsFeature), _items); }
        if (_memoryPool is not null) { yield return new(typeof(IMemoryPoolFeature), _memoryPool); }
        if (_lifetime is not null) { yield return new(typeof(IConnectionLifetimeFeature), _lifetime); }
        if (_endPoint is not null) { yield return new(typeof(IConnectionEndPointFeature), _endPoint); }
        if (_others is { } others)
        {
            foreach (var pair in others)
            {
                yield return pair;
            }
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private void SetOther(Type key, object? value)
    {
        var others = _others ??= new List<KeyValuePair<Type, object>>(4);
        for (int i = 0; i < others.Count; i++)
        {
            if (others[i].Key == key)
            {
                if (value is null)
                {
                    others.RemoveAt(i);
                }
                else
                {
                    others[i] = new(key, value);
                }
                return;
            }
        }
        if (value is not null)
        {
            others.Add(new(key, value));
        }
    }
}
