from rest_framework import serializers


class StrictSerializer(serializers.Serializer):
    """A serializer that refuses fields it does not know, naming them."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)
