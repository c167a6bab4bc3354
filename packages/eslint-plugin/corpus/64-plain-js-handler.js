// Plain JavaScript handler following the conventions: ctx first, its signal to fetch.
export async function weather(ctx, city) {
  const res = await fetch(`https://weather.example.com/${encodeURIComponent(city)}`, { signal: ctx.signal });
  if (!res.ok) throw new Error(`weather for ${city}: ${res.status}`);
  const { tempC } = await res.json();
  return tempC;
}

export function formatTemp(tempC) {
  return `${Math.round(tempC)} °C`;
}
