export function loadSerializers(): Map<string, { props: Map<string, string | null>; bases: string[] }>;
export function propertiesOf(typeName: string, namespace?: string): Map<string, string | null>;
export function propertiesOfSerializer(key: string): Map<string, string | null>;
