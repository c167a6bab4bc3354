// set: independent
// Geocoding client given the caller's signal, combined with its own 2.5 s timeout.
export interface LatLng { lat: number; lng: number }

export async function geocode(address: string, signal: AbortSignal): Promise<LatLng | undefined> {
  const url = `https://geo.example.com/v1/search?q=${encodeURIComponent(address)}`;
  const res = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(2_500)]) }); // expect: no-double-timeout
  if (res.status === 404) return undefined;
  return (await res.json()) as LatLng;
}
