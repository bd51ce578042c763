"""What the API reads and writes for the hospital's structure. Names come in every
patient language ({"en", "hi", "ta"}), as the screens have them."""

from rest_framework import serializers

from hospital.languages import all_names
from hospital.models import Counter, Department


class CounterSerializer(serializers.ModelSerializer):
    names = serializers.SerializerMethodField()

    class Meta:
        model = Counter
        fields = ["id", "name", "names", "is_active"]

    def get_names(self, counter) -> dict[str, str]:
        return all_names(counter)


class DepartmentSerializer(serializers.ModelSerializer):
    names = serializers.SerializerMethodField()
    counters = CounterSerializer(many=True, read_only=True)
    open_weekdays = serializers.ListField(
        source="open_weekday_names", child=serializers.CharField(), read_only=True
    )

    class Meta:
        model = Department
        fields = ["slug", "code", "name", "names", "kind", "open_weekdays", "counters"]

    def get_names(self, department) -> dict[str, str]:
        return all_names(department)
